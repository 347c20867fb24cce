// Starts @20minutes/s3rver (pinned in local/package-lock.json) for the
// functions' S3 tests. Run with the Node 24 binary from local/node_modules:
//   node s3rver.js -d DIR -a 127.0.0.1 -p 0 --configure-bucket NAME
// It prints "S3rver listening on 127.0.0.1:PORT" once bound (port 0 lets the
// kernel pick a free port); the test reads the port from that line.
const path = require('node:path')
const root = path.resolve(__dirname, '..', '..')
require(path.join(root, 'local', 'node_modules', '@20minutes', 's3rver', 'lib', 'cli'))
  .parseAsync()
  .catch((err) => {
    console.error(err && err.stack ? err.stack : String(err))
    process.exit(1)
  })
