import { type Db, isDuplicateKeyError } from "@skyferry/db";
import type { IndexDescription } from "mongodb";

/** One document per lease: `{_id: <name>, holder, expires_at}`. */
export const LEASES_COLLECTION = "transfer_leases";
/** Leases are read and written by `_id` only. */
export const LEASE_INDEXES: Record<string, IndexDescription[]> = { [LEASES_COLLECTION]: [] };

interface LeaseDoc {
  _id: string;
  holder: string;
  expires_at: Date;
}

/**
 * A lease in MongoDB that one holder at a time has until it expires: taken or renewed with one
 * conditional single-document update (no transactions on FerretDB), created with an insert whose
 * duplicate key means another holder was first.
 */
export interface Lease {
  /** Takes or renews the lease for `ttlMs`; false while another holder's lease runs. Throws when the database cannot be reached. */
  take(): Promise<boolean>;
  /** Gives the lease up at once, if this holder has it (a stopping instance). */
  release(): Promise<void>;
}

export function createLease(db: Db, o: { name: string; holder: string; ttlMs: number; now: () => Date }): Lease {
  const leases = db.collection<LeaseDoc>(LEASES_COLLECTION);
  return {
    async take() {
      const t = o.now();
      const expires_at = new Date(t.getTime() + o.ttlMs);
      const renewed = await leases.findOneAndUpdate(
        { _id: o.name, $or: [{ holder: o.holder }, { expires_at: { $lt: t } }] },
        { $set: { holder: o.holder, expires_at } },
        { returnDocument: "after" },
      );
      if (renewed) return renewed.holder === o.holder;
      try {
        await leases.insertOne({ _id: o.name, holder: o.holder, expires_at });
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false; // held by another, and not expired
        throw err;
      }
    },
    async release() {
      await leases.updateOne({ _id: o.name, holder: o.holder }, { $set: { expires_at: new Date(0) } });
    },
  };
}
