/** Every input, output and state key, named once. action.yml must declare the same names (a test checks). */
export enum Inputs {
  ComposeFile = 'compose-file',
  ProjectName = 'project-name',
  Profiles = 'profiles',
  EnvFile = 'env-file',
  Services = 'services',
  WaitTimeout = 'wait-timeout',
  Pull = 'pull',
  Seed = 'seed',
  SeedRunId = 'seed-run-id',
  SeedRepository = 'seed-repository',
  SeedWorkflow = 'seed-workflow',
  SeedBranch = 'seed-branch',
  SeedOptional = 'seed-optional',
  SeedMaxAge = 'seed-max-age',
  SeedMinSize = 'seed-min-size',
  RestoreKeys = 'restore-keys',
  GithubToken = 'github-token',
  Overwrite = 'overwrite',
  Run = 'run',
  TestTimeout = 'test-timeout',
  Exec = 'exec',
  Probes = 'probes',
  RecordProbes = 'record-probes',
  UncomparedProbes = 'uncompared-probes',
  ExpectedProbes = 'expected-probes',
  RestoreTimeBudget = 'restore-time-budget',
  RestartModes = 'restart-modes',
  RestartOrder = 'restart-order',
  Write = 'write',
  Load = 'load',
  Acknowledged = 'acknowledged',
  CrashRounds = 'crash-rounds',
  CrashSeed = 'crash-seed',
  CrashKind = 'crash-kind',
  CheckFiles = 'check-files',
  Ignore = 'ignore',
  KnownStores = 'known-stores',
  LayerAudit = 'layer-audit',
  LayerIgnore = 'layer-ignore',
  ArchiveTo = 'archive-to',
  ArtifactName = 'artifact-name',
  RetentionDays = 'retention-days',
  ArchiveFormat = 'archive-format',
  ArchiveConsistency = 'archive-consistency',
  Encrypt = 'encrypt',
  DecryptPassphrase = 'decrypt-passphrase',
  DecryptIdentity = 'decrypt-identity',
  MaxArchiveSize = 'max-archive-size',
  HelperImage = 'helper-image',
  KeepVolumes = 'keep-volumes',
  WorkingDirectory = 'working-directory',
}

export enum Outputs {
  Result = 'result',
  Report = 'report',
  Volumes = 'volumes',
  Archives = 'archives',
  ProjectName = 'project-name',
  RestoreEvidence = 'restore-evidence',
}

/** What main hands to post through the runner's state file. */
export enum State {
  Teardown = 'teardown',
}

/** Every resource the action creates carries this label, so teardown can find it. */
export const RUN_LABEL = 'dev.compose-persist.run';
/** Marks a volume the action created (and may therefore remove). */
export const CREATED_LABEL = 'dev.compose-persist.created';

export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';
export const COMPOSE_VOLUME_LABEL = 'com.docker.compose.volume';
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';
export const COMPOSE_ONEOFF_LABEL = 'com.docker.compose.oneoff';
export const COMPOSE_CONTAINER_NUMBER_LABEL = 'com.docker.compose.container-number';
