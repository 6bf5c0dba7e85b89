// Structured logs: one JSON object per line, never a secret in full.

type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: LogLevel = "info",
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => console.log(line),
): Logger {
  return new JsonLogger(ORDER[level], base, write);
}

/** Methods on the prototype, not closures: every request makes a child, and a parked
 * long-poll keeps it (issue 21: memory per parked request). */
class JsonLogger implements Logger {
  constructor(
    private readonly min: number,
    private readonly base: Record<string, unknown>,
    private readonly write: (line: string) => void,
  ) {}
  private emit(l: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[l] < this.min) return;
    this.write(
      JSON.stringify({ ts: new Date().toISOString(), level: l, msg, ...this.base, ...fields }),
    );
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.emit("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.emit("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.emit("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.emit("error", msg, fields);
  }
  child(fields: Record<string, unknown>): Logger {
    return new JsonLogger(this.min, { ...this.base, ...fields }, this.write);
  }
}

/** The first and last few characters of a secret-like value, for logs. */
export function redact(value: string | null | undefined): string {
  if (!value) return "";
  if (value.length <= 12) return "…";
  return `${value.slice(0, 4)}…${value.slice(-4)}`;
}
