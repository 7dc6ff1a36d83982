// Fair turns on the one event loop every connection of every protocol shares: a session answering a
// pipeline it already holds in its buffer (up to a megabyte of commands) gives the loop back every few
// commands, so one client streaming NOOPs cannot hold everyone else's replies for the whole buffer.

/** Commands answered from the input buffer in a row before the session lets other connections run. */
const EVERY = 64;

export class Turns {
  private inARow = 0;

  /**
   * Called once per command answered, with whether another command is already buffered: true when the
   * session should send what it has and `yieldTurn()` before going on.
   */
  due(moreBuffered: boolean): boolean {
    if (!moreBuffered) {
      this.inARow = 0;
      return false;
    }
    if (++this.inARow < EVERY) return false;
    this.inARow = 0;
    return true;
  }
}

/** Lets the event loop serve I/O and timers (setImmediate runs after them) before the caller goes on. */
export const yieldTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
