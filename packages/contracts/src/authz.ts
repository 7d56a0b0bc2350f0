// Contracts of the authz service: filled in by its issue.
export {};
