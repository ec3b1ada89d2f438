/**
 * A reader that stops early (`| head -3`, `| grep -m1`, quitting `less`) closes the pipe, and the
 * next write fails with EPIPE. A Unix tool is then killed by SIGPIPE; Node ignores that signal and
 * reports the failed write as an unhandled error with a stack trace instead. The CLI stops quietly,
 * with the status of a tool killed by SIGPIPE (128 + 13), unless it is in the middle of a change to
 * the live system, which it finishes first (no write without its notification).
 */
export const EXIT_OUTPUT_CLOSED = 141;

let closed = false;
let uninterruptibleDepth = 0;

export function stopQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      // After EPIPE, later writes to the closed stream fail too: nobody can read them either.
      if (e.code !== 'EPIPE' && !closed) throw e;
      closed = true;
      if (uninterruptibleDepth === 0) process.exit(EXIT_OUTPUT_CLOSED);
    });
  }
}

/** Runs work that must not stop half-way when the output closes; the command then ends as it would have. */
export async function uninterruptible<T>(work: () => Promise<T>): Promise<T> {
  uninterruptibleDepth++;
  try {
    return await work();
  } finally {
    uninterruptibleDepth--;
  }
}
