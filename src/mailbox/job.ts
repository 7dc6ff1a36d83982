// A background job of the mail service (retention, the daily Junk report): a first run a while after the
// server starts, then one every interval, never two at once (a run asked for while one is going gets that
// one), and stopped with the server, which waits for a run in progress. The timer never keeps the process
// alive on its own.
export class Job<T> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<T> | null = null;
  private readonly body: (now: number) => Promise<T>;
  private readonly onError: (e: unknown) => void;

  constructor(body: (now: number) => Promise<T>, onError: (e: unknown) => void) {
    this.body = body;
    this.onError = onError;
  }

  /** Runs now (with `now` as the time, for tests), or joins the run in progress. */
  run(now = Date.now()): Promise<T> {
    this.running ??= this.body(now).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  start(firstMs: number, everyMs: number): void {
    if (this.timer) return;
    const later = (delay: number) => {
      this.timer = setTimeout(() => {
        void this.run().catch(this.onError);
        later(everyMs);
      }, delay).unref();
    };
    later(firstMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }
}
