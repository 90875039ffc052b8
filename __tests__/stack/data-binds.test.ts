import { describe, expect, it } from 'vitest';
import { bindArchiveName, dataBinds, type StackModel } from '../../src/stack/model.js';

function modelWith(binds: StackModel['binds']): StackModel {
  return { project: 'shop', services: ['app'], images: {}, volumes: [], binds, tmpfs: [], anonymous: [] };
}

const bind = (source: string, target = '/data', readOnly = false, service = 'app') => ({
  service,
  source,
  target,
  readOnly,
});

describe('dataBinds', () => {
  it('keeps writable data directories, named by service and target', () => {
    const model = modelWith([
      bind('/srv/shop/data', '/var/lib/app/data'),
      bind('/work/shop/uploads', '/uploads'),
    ]);
    expect(dataBinds(model, '/work/shop')).toEqual([
      {
        name: 'bind-app-var-lib-app-data',
        source: '/srv/shop/data',
        service: 'app',
        target: '/var/lib/app/data',
      },
      { name: 'bind-app-uploads', source: '/work/shop/uploads', service: 'app', target: '/uploads' },
    ]);
  });

  it.each([
    ['read-only', bind('/srv/data', '/data', true)],
    ['the project directory (its source code)', bind('/work/shop', '/app')],
    ['a folder above the project', bind('/work', '/app')],
    ['the docker socket', bind('/var/run/docker.sock', '/var/run/docker.sock')],
    ['a host system directory', bind('/etc', '/host-etc')],
    ['below a host system directory', bind('/usr/share/zoneinfo', '/zoneinfo')],
    ['the whole of /home', bind('/home', '/home')],
    ['the host root', bind('/', '/host')],
    ['the engine data', bind('/var/lib/docker/volumes', '/v')],
  ])('leaves out %s', (_what, b) => {
    expect(dataBinds(modelWith([b]), '/work/shop')).toEqual([]);
  });

  it('lists a source mounted twice once, named after its first mount', () => {
    const model = modelWith([bind('/srv/d', '/a', false, 'web'), bind('/srv/d/', '/b', false, 'worker')]);
    expect(dataBinds(model, '/p').map((b) => b.name)).toEqual(['bind-web-a']);
  });

  it('names a bind of / in the container, and odd characters, safely', () => {
    expect(bindArchiveName('app', '/')).toBe('bind-app-root');
    expect(bindArchiveName('app', '/data dir/x:y')).toBe('bind-app-data-dir-x-y');
  });
});
