// @20minutes/s3rver (pinned in local/package-lock.json) for the hardening
// tests, with one extra key pair so the secret key differs from the access
// key id (s3rver's built-in pair is S3RVER/S3RVER): a test can then tell
// the secret apart in logs. Node 24:
//   node s3rver.js ACCESS_KEY SECRET_KEY -d DIR -a 127.0.0.1 -p 0 --configure-bucket NAME
// Prints "S3rver listening on 127.0.0.1:PORT" once bound.
const path = require('node:path')
const s3 = path.join(__dirname, '..', '..', 'local', 'node_modules', '@20minutes', 's3rver', 'lib')
const [accessKey, secretKey] = process.argv.splice(2, 2)
require(path.join(s3, 'models', 'account')).DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey)
require(path.join(s3, 'cli')).parseAsync().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err))
  process.exit(1)
})
