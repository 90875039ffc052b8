import { describe, expect, it } from 'vitest';
import type { CommandSpec } from '../../src/inputs.js';
import { assertServicesExist } from '../../src/stack/stack.js';

const on = (service: string, command = 'true'): CommandSpec => ({ target: { service }, command });
const host: CommandSpec = { target: 'host', command: 'curl -s localhost:8080' };

describe('assertServicesExist: services named by the inputs, checked before up (issue 11, point 13)', () => {
  const stack = ['app', 'db'];

  it('accepts services of the stack and host commands', () => {
    expect(() =>
      assertServicesExist({ services: [], exec: [on('app')], probes: [on('db'), host] }, stack),
    ).not.toThrow();
  });

  it.each([
    [
      { services: ['web'], exec: [], probes: [] },
      "Input 'services': no service named web in the stack; its services are: app, db.",
    ],
    [
      { services: [], exec: [on('ap'), on('ap')], probes: [] },
      "Input 'exec': no service named ap in the stack; its services are: app, db.",
    ],
    [
      { services: [], exec: [], probes: [host, on('cache')] },
      "Input 'probes': no service named cache in the stack; its services are: app, db.",
    ],
    [
      { services: ['db'], exec: [], probes: [on('app')] },
      "Input 'probes': service app is not started (input 'services': db); add it there.",
    ],
  ])('refuses %j', (settings, message) => {
    expect(() => assertServicesExist(settings, stack)).toThrow(message);
  });
});
