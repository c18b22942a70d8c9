/** Resolves after the I/O and timers already due: long work awaits it between slices so requests get in. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
