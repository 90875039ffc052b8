// `npm run lint` runs this: an import cycle (type-only imports included) ties modules into one and fails.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Layers point down (entry points → pipeline → phases → check/volumes → archive/docker → types): move the shared piece into the lower module.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
