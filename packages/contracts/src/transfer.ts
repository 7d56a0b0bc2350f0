// Contracts of the transfer service: filled in by its issue.
export {};
