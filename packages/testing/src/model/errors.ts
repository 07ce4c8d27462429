import { TestingError } from "../errors.js";

/**
 * A mistake in how a test drives the simulator (unknown unit, invalid config value, a model
 * that never settles…). The message names the problem and what to change in the test.
 */
export class SimulatorError extends TestingError {
  constructor(code: string, message: string, options: { cause?: unknown; resolution?: string | undefined } = {}) {
    super(code, `[@refresh/testing] ${message}`, options);
  }
}

