// CPU time of a process so far, from /proc (Linux): what bench/cold_start.ts compares
// besides the wall clock, since it moves far less with the load of a shared machine.

/** CPU time (user + system, every thread) process `pid` has used so far, in ms. */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`).split(" ")[0]);
    } catch { /* the thread ended */ }
  }
  return ns / 1e6;
}
