// Contracts of the history service: filled in by its issue.
export {};
