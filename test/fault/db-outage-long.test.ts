import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { SignedIn } from "../support/auth.ts";
import { assertLogsSettled, assertSendSettled, type FaultWorld, faultWorldUnavailable, startFaultWorld, startSendMidway } from "../support/fault-send.ts";
import { waitForJobs } from "../support/send.ts";
import { stackAuthzConfig } from "../support/send-system.ts";
import { getThroughDatabaseOutage } from "../support/fault-get.ts";

// Issue 25, case 1, the long variant: the database killed (SIGKILL) for 90 s in the middle of a
// send (the world of db-outage.test.ts: a FerretDB of the test's own, radosgw behind a 16 MiB/s
// link), of one-PUT jobs (nothing recorded before their end) and multipart jobs (claimed, parts
// recorded) alternately. 90 s is past what JetStream allows a message: every attempt fails on the
// database and hands the message back, and with TRANSFER_MAX_DELIVER at 3 the work guard's last
// delivery continues each job in a new message (`<id>.c<time>`), over and over, until the database
// is back. The continuation path runs for real here (guard.test.ts is its unit test): the stale
// threshold stays at its default (300 s), so neither the reconciler nor a stale heartbeat can
// finish what a continuation does not -- a multipart job claimed when the database went away is
// run again only if its continuation may take its claim. Then the same promises as after 5 s:
// every job ok, every object once and byte-identical, nothing left queued or running, nothing
// terminated, the transfer service not ready while the database is down.

const MiB = 1024 * 1024;
const JOBS = 12;
const OUTAGE_MS = 90_000;
const skip = faultWorldUnavailable();
if (skip) console.warn(`\n!!! SKIPPED test/fault/db-outage-long.test.ts: ${skip} (it needs the stack's FerretDB on PostgreSQL)\n`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the database killed for 90 s mid-send: past JetStream's deliveries, every job ends ok once it is back", { skip: skip ? `SKIPPED: ${skip}` : false }, () => {
  let world: FaultWorld;
  let user: SignedIn;
  let authzId: string;

  before(async () => {
    world = await startFaultWorld("fault-db-long", {
      transferEnv: {
        TRANSFER_SINGLE_PUT_MAX_MB: "8",
        TRANSFER_PART_SIZE_MB: "5",
        TRANSFER_CONCURRENCY: "2",
        // 3 deliveries of ~5 s each (a 3 s server selection, then up to 2 s handed back): a message
        // runs out of deliveries in ~15 s, several times over in 90 s, whatever the machine.
        TRANSFER_MAX_DELIVER: "3",
        TRANSFER_RETRY_MAX_DELAY_MS: "2000",
        TRANSFER_HEARTBEAT_SECONDS: "1",
        // The default: no heartbeat goes stale within the test, so the reconciler re-drives nothing.
        TRANSFER_STALE_SECONDS: "300",
        TRANSFER_RECONCILE_SECONDS: "1",
      },
    });
    user = await world.w.user();
    authzId = await world.w.authz(user, "s3", { ...stackAuthzConfig("s3"), endpoint: world.link.url });
  });
  after(() => world?.close());

  test("one-PUT and multipart jobs (6 x 8 MiB, 6 x 12 MiB in 5 MiB parts): continued in new messages while the database is down, all ok once it is back", async () => {
    const { w, ferret, mongo } = world;
    const logFrom = w.sys.logs.lines.length;
    const jobsCol = mongo.db(w.sys.db).collection<{ _id: string; state: string; redrives?: number }>("transfer_jobs");
    const s = await startSendMidway(w, user, authzId, { jobs: JOBS, size: (i) => (i % 2 === 0 ? 8 : 12) * MiB, buckets: world.buckets, label: "fault-db-long" });
    const claimed = await jobsCol.countDocuments({ _id: { $in: s.ids }, state: "running" });
    await ferret.kill();
    assert.ok(s.committed >= 1 && s.committed < JOBS, `the database went away mid-send (${s.committed} of ${JOBS} objects committed)`);
    const readyz = async () => {
      const r = await w.sys.services.transfer!.app.inject({ url: "/readyz" });
      return { status: r.statusCode, mongodb: (r.json() as { checks: { mongodb: boolean } }).checks.mongodb };
    };
    assert.deepEqual(await readyz(), { status: 503, mongodb: false }, "not ready once the database is gone");
    await sleep(OUTAGE_MS);
    assert.deepEqual(await readyz(), { status: 503, mongodb: false }, "still not ready 90 s later");
    await ferret.start();
    const back = performance.now();

    // Past 120 s only a job whose heartbeat went stale (300 s) would still end, by a re-drive: a failure here.
    const jobs = await waitForJobs(w.sys.url, user.apiKey, s.ids, 120_000, 200);
    const settleMs = Math.round(performance.now() - back);
    const lines = w.sys.logs.lines.slice(logFrom);
    const continued = lines.filter((l) => l.includes("continued in a new one"));
    const continuedJobs = new Set(continued.map((l) => /"job_id":"([^"]+)"/.exec(l)?.[1]));
    console.log(`90 s outage, one-PUT and multipart: all ${JOBS} jobs final ${settleMs} ms after the database came back (${s.committed} objects committed and ${claimed} multipart jobs running before the kill; ${continued.length} continuations of ${continuedJobs.size} jobs)`);

    // The outage outlasted JetStream's deliveries: the guard continued work in new messages.
    assert.ok(continued.length >= 1, "a job's message ran out of deliveries and was continued in a new one");
    await assertSendSettled(s, jobs, mongo, w.sys.db);
    assertLogsSettled(lines, { transient: true });
    assert.deepEqual(await jobsCol.countDocuments({ _id: { $in: s.ids }, redrives: { $gt: 0 } }), 0, "no job needed the reconciler");
    assert.deepEqual(await readyz(), { status: 200, mongodb: true });
  });
});

describe("the database killed for 90 s mid-get: past JetStream's deliveries, every job and history item ends ok once it is back", { skip: skip ? `SKIPPED: ${skip}` : false }, () => {
  let world: FaultWorld;
  before(async () => {
    world = await startFaultWorld("fault-db-long-get", {
      both: true,
      transferEnv: { TRANSFER_CONCURRENCY: "2", TRANSFER_MAX_DELIVER: "3", TRANSFER_RETRY_MAX_DELAY_MS: "2000", TRANSFER_HEARTBEAT_SECONDS: "1", TRANSFER_STALE_SECONDS: "300", TRANSFER_RECONCILE_SECONDS: "1" },
    });
  });
  after(() => world?.close());

  test("12 x 8 MiB objects into a history", async () => {
    const { settleMs, doneBefore } = await getThroughDatabaseOutage(world, {
      jobs: JOBS,
      outageMs: OUTAGE_MS,
      label: "fault-get-long",
      whileDown: async () => {
        const r = await world.w.sys.services.transfer!.app.inject({ url: "/readyz" });
        assert.equal(r.statusCode, 503, "not ready 90 s into the outage");
      },
    });
    console.log(`90 s outage, get: all ${JOBS} jobs final ${settleMs} ms after the database came back (${doneBefore} done before the kill)`);
  });
});
