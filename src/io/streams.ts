/**
 * io/streams: waiting on streams. A pipeline into a file can reject while the file is still being
 * opened (a source that fails at once): removing the file then, before that open has ended, lets the
 * open create it again afterwards (a temporary file left in a destination; a download's file
 * truncated under its retry).
 */
import type { Writable } from 'node:stream';

/**
 * closed resolves once `stream` has closed (a file stream closes after its open has ended), also
 * when it was destroyed with an error: events.once(stream, 'close') would reject on that 'error'.
 */
export async function closed(stream: Writable): Promise<void> {
  if (stream.closed) return;
  await new Promise<void>((resolve) => stream.once('close', () => resolve()));
}
