// The leases sub-store's contract: named exclusive leases shared by every node on the same database, held
// by an owner until released or until they expire unrenewed (a crashed node's leases lapse on their own).
// Used for the POP3 maildrop lock (RFC 1939 section 4) across nodes. Implemented once in SQL.

export interface LeaseStore {
  /**
   * Takes `name` for `owner` until now + ttlMs: true when free, expired, or already this owner's. With
   * `deadPrefix`, also when held by an owner that starts with it and is as long as `owner`: an earlier,
   * dead run of the same node (owners `<node id>/<incarnation>`, incarnations of one length).
   */
  acquire(name: string, owner: string, ttlMs: number, now: number, deadPrefix?: string): Promise<boolean>;
  /** Extends the owner's leases among `names` to now + ttlMs; returns how many it still held. */
  renew(names: string[], owner: string, ttlMs: number, now: number): Promise<number>;
  /** Gives the lease back (nothing when another owner holds it). */
  release(name: string, owner: string): Promise<void>;
}
