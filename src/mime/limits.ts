// Parser limits that keep hostile input bounded, with their defaults, and the shared problem list helper.

/** Bounds on what parseMessage will do with one message; past a bound it returns a best-effort tree. */
export interface ParseLimits {
  /** Nesting depth of multipart and message/rfc822 parts (root is depth 0). */
  maxDepth?: number;
  /** Header fields kept per header block; later ones are scanned over but dropped. */
  maxHeaderFields?: number;
  /** Bytes kept of one header field (unfolded); the rest is dropped. */
  maxHeaderLineLength?: number;
  /** MIME parts in the whole message, encapsulated messages included. */
  maxParts?: number;
  /** Characters of extracted text (ParsedMessage.text). */
  maxTextLength?: number;
}

export const DEFAULT_LIMITS: Required<ParseLimits> = {
  maxDepth: 32,
  maxHeaderFields: 1000,
  maxHeaderLineLength: 64 * 1024,
  maxParts: 2000,
  maxTextLength: 1024 * 1024,
};

const MAX_PROBLEMS = 50;

/** Records a problem once; the list is capped so hostile input cannot grow it without bound. */
export function addProblem(problems: string[], message: string): void {
  if (problems.length >= MAX_PROBLEMS || problems.includes(message)) return;
  problems.push(message);
}
