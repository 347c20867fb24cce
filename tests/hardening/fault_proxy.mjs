// A fault-injecting HTTP proxy for the S3 tests (Node 24, loopback, port 0).
//
//   node fault_proxy.mjs UPSTREAM_PORT
//
// Prints "fault-proxy listening on 127.0.0.1:PORT". Forwards every request
// to 127.0.0.1:UPSTREAM_PORT unchanged (Host included, so SigV4 still
// verifies) except when a rule matches. Control (never forwarded):
//   PUT /__faults   body: [{"method":"GET","path":"regex","fault":KIND,"times":N}, ...]
//                   replaces the rules; each rule fires on its next N matches
//   GET /__log      {"injected":[{fault,method,url,range,at}], "signatures":[...], "requests":N}
// Kinds:
//   500           answers 500 InternalError without forwarding
//   503           answers 503 SlowDown without forwarding
//   429           answers 429 with a JSON ThrottlingException (the AWS JSON
//                 protocol's throttling answer) without forwarding
//   reset         forwards, sends the headers and half the body, then resets
//   truncate      forwards, sends the headers (true Content-Length) and half
//                 the body, then closes cleanly
//   long-length   forwards, announces Content-Length + 100, sends the whole
//                 body, then closes
//   delay         waits rule.ms (default 1000) before forwarding (a window
//                 in which a test can kill the client mid-upload)
//   short-length  forwards, announces Content-Length - 100 and sends only
//                 that many bytes: a short body no HTTP client can notice
import http from 'node:http'

const upstreamPort = Number(process.argv[2])
let rules = []
const injected = []
const signatures = new Set()
let requests = 0

function readBody (req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function errorXml (code, message) {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`
}

function matchRule (req) {
  for (const r of rules) {
    if (r.times > 0 && (!r.method || r.method === req.method) && new RegExp(r.path || '').test(req.url)) {
      r.times--
      return r
    }
  }
  return null
}

function recordSignatures (req) {
  const auth = req.headers.authorization || ''
  const m = /Signature=([0-9a-f]+)/.exec(auth)
  if (m) signatures.add(m[1])
  const q = /[?&]X-Amz-Signature=([0-9a-f]+)/.exec(req.url)
  if (q) signatures.add(q[1])
}

const server = http.createServer(async (req, res) => {
  if (req.url === '/__faults' && req.method === 'PUT') {
    rules = JSON.parse((await readBody(req)).toString())
    res.end('ok')
    return
  }
  if (req.url === '/__log') {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ injected, signatures: [...signatures], requests, pending: rules.filter((r) => r.times > 0) }))
    return
  }
  requests++
  recordSignatures(req)
  const body = await readBody(req)
  const rule = matchRule(req)
  if (rule) injected.push({ fault: rule.fault, method: req.method, url: req.url.replace(/X-Amz-Signature=[0-9a-f]+/, 'X-Amz-Signature=…'), range: req.headers.range || '', at: Date.now() })
  if (rule && (rule.fault === '500' || rule.fault === '503')) {
    const slow = rule.fault === '503'
    const xml = slow ? errorXml('SlowDown', 'Please reduce your request rate.') : errorXml('InternalError', 'We encountered an internal error. Please try again.')
    res.writeHead(slow ? 503 : 500, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) })
    res.end(xml)
    return
  }
  if (rule && rule.fault === '429') {
    const json = JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' })
    res.writeHead(429, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(json) })
    res.end(json)
    return
  }
  if (rule && rule.fault === 'delay') await new Promise((resolve) => setTimeout(resolve, rule.ms || 1000))
  const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (ur) => {
    const chunks = []
    ur.on('data', (c) => chunks.push(c))
    ur.on('end', () => {
      const full = Buffer.concat(chunks)
      const headers = { ...ur.headers }
      delete headers['transfer-encoding']
      // A HEAD answer has no body but the object's Content-Length: keep it.
      if (req.method !== 'HEAD') headers['content-length'] = String(full.length)
      if (!rule || rule.fault === 'delay' || full.length < 2) {
        res.writeHead(ur.statusCode, headers)
        res.end(full)
        return
      }
      const half = full.subarray(0, Math.floor(full.length / 2))
      if (rule.fault === 'short-length') {
        const n = full.length - Math.min(100, half.length)
        headers['content-length'] = String(n)
        res.writeHead(ur.statusCode, headers)
        res.end(full.subarray(0, n))
        return
      }
      if (rule.fault === 'long-length') headers['content-length'] = String(full.length + 100)
      res.writeHead(ur.statusCode, headers)
      res.flushHeaders()
      res.write(rule.fault === 'long-length' ? full : half, () => {
        // After the bytes are out: a reset (RST) or a clean close (FIN)
        // short of the announced length.
        setTimeout(() => {
          if (rule.fault === 'reset') res.socket.resetAndDestroy()
          else res.socket.end()
        }, 20)
      })
    })
  })
  up.on('error', (e) => { res.writeHead(502); res.end(String(e)) })
  up.end(body)
})
server.keepAliveTimeout = 5000
server.listen(0, '127.0.0.1', () => {
  console.log(`fault-proxy listening on 127.0.0.1:${server.address().port}`)
})
process.on('SIGTERM', () => process.exit(0))
