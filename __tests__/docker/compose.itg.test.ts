import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Compose, detectComposeCli } from '../../src/docker/compose.js';
import { DockerEngine } from '../../src/docker/engine.js';
import { runServiceCommand } from '../../src/check/commands.js';
import { serviceContainers, upAndWait } from '../../src/stack/lifecycle.js';
import { stackModelFrom } from '../../src/stack/model.js';
import { teardownStack, type TeardownPlan } from '../../src/stack/teardown.js';
import '../support/images.js';

const example = path.resolve('examples/postgres/compose.yml');
const engine = new DockerEngine();
const project = `cp-itg-${randomBytes(3).toString('hex')}`;
let plan: TeardownPlan | undefined;

afterAll(async () => {
  if (plan) await teardownStack(plan, engine);
});

describe('the example PostgreSQL stack on the real engine', () => {
  it('comes up healthy, answers psql, and is removed by teardown even after a failure', async () => {
    const cli = await detectComposeCli();
    const spec = { files: [example], projectName: project, profiles: [], cwd: path.dirname(example) };
    const compose = new Compose(cli, spec);
    const model = stackModelFrom(await compose.config());
    expect(model.volumes.map((v) => v.name)).toEqual([`${project}_pgdata`]);
    expect(model.binds.map((b) => b.target)).toEqual(['/docker-entrypoint-initdb.d']);
    plan = {
      cli,
      project: spec,
      runLabel: project,
      createdVolumes: [`${project}_pgdata`],
      volumesBefore: [],
      keepVolumes: false,
    };

    await upAndWait(compose, engine, { waitTimeoutSeconds: 120 }, 'test');
    const containers = await serviceContainers(engine, project);
    expect(containers.map((c) => [c.service, c.details.health])).toEqual([['db', 'healthy']]);

    const count = await runServiceCommand(
      compose,
      'db',
      'psql -U postgres -d shop -tAc "select count(*) from orders"',
    );
    expect(count.exitCode).toBe(0);
    expect(count.stdout.trim()).toBe('1000');

    // A failing command in the service fails with its own words; teardown still runs below.
    const broken = await runServiceCommand(
      compose,
      'db',
      'psql -U postgres -d shop -tAc "select * from nope"',
    );
    expect(broken.exitCode).not.toBe(0);
    expect(broken.stderr).toMatch(/relation "nope" does not exist/);

    const result = await teardownStack(plan, engine);
    plan = undefined;
    expect(result.problems).toEqual([]);
    expect(result.removedVolumes).toContain(`${project}_pgdata`);
    expect(await engine.listContainers([`com.docker.compose.project=${project}`])).toEqual([]);
    expect(await engine.inspectVolume(`${project}_pgdata`)).toBeUndefined();
  });
});
