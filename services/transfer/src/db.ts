// The transfer service's MongoDB data model, for tools that measure or check it (bench:db, the
// index test): its repository and the indexes its queries use.
export { createJobRepository, JOB_INDEXES, JOBS_COLLECTION, type JobRepository, PARTS_COLLECTION } from "./jobs/repository.ts";
export type { JobDoc } from "./jobs/job-doc.ts";
export { LEASE_INDEXES, LEASES_COLLECTION } from "./reliability/lease.ts";
