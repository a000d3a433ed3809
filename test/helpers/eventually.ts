// Polling for state that settles asynchronously (materialised files, session rows).

/** Retries `check` until it stops throwing; rethrows its last error after `ms`. */
export async function eventually<T>(check: () => T | Promise<T>, ms = 5000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
