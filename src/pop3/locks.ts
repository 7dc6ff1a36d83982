// The exclusive-access lock on a maildrop (RFC 1939 section 4): one POP3 session per account at a time,
// held from login until the session ends. In process only; cluster mode needs a shared lock (see docs).

export class MaildropLocks {
  private readonly held = new Set<number>();

  /** Takes the account's lock; returns its release, or null when another session holds it ([IN-USE]). */
  tryAcquire(accountId: number): (() => void) | null {
    if (this.held.has(accountId)) return null;
    this.held.add(accountId);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(accountId);
    };
  }

  isHeld(accountId: number): boolean {
    return this.held.has(accountId);
  }
}
