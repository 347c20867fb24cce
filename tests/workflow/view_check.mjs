// Checks an execution view (local/workflow/view.mjs's page) the way a user
// sees it: in Debian's headless Chromium.
//   - The page can load nothing: its Content-Security-Policy defaults to
//     'none' (script and style allowed by hash only), its markup names no
//     http(s) resource (src, href, url(), @import), and Chromium, pointed at
//     a proxy this check listens on (loopback included), asks it for nothing
//     while it renders the page but its own background services (Google's
//     update, time and account hosts, which it calls whatever the page; a
//     leaky control page shows that the page's requests do arrive).
//   - The rendered DOM (--dump-dom, after the page's script ran: the CSP let
//     it) has each expected state with its outcome's class and colour, and
//     the state selected by #state=NAME shows its details (e.g. the error).
//   - A PNG screenshot is taken and decoded: it shows the outcome colours
//     asked for (e.g. the caught state's orange border).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
// Hosts Chromium itself calls (component updates, network time, sign-in,
// optimization hints), page or no page.
const CHROMIUM_OWN = /(^|\.)(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)$/;

function chromiumPath() {
  const found = CHROMIUM.find((p) => existsSync(p));
  if (found) return found;
  throw new Error('Debian\'s chromium is not installed (bash local/setup.sh installs it)');
}

function run(cmd, argv, timeoutMs = 120000) {
  return new Promise((resolve) => {
    // No D-Bus here: Chromium would wait for one.
    const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent', DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent' };
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, out, err }); });
  });
}

// A decoded PNG (8-bit RGB or RGBA, not interlaced: what Chromium writes).
export function decodePng(buf) {
  assert.deepEqual([...buf.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'a PNG signature');
  let off = 8;
  let width, height, colorType;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth 8');
      colorType = data[9];
      assert.ok(colorType === 2 || colorType === 6, `colour type ${colorType}`);
      assert.equal(data[12], 0, 'not interlaced');
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[y * stride + x - bpp] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = v & 0xff;
    }
  }
  return { width, height, bpp, px };
}

// How many pixels are within `tol` of the colour '#rrggbb'.
export function countColour(png, hex, tol = 12) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < png.px.length; i += png.bpp) {
    if (Math.abs(png.px[i] - r) <= tol && Math.abs(png.px[i + 1] - g) <= tol && Math.abs(png.px[i + 2] - b) <= tol) n++;
  }
  return n;
}

// The markup outside the execution's JSON data block (the data is text:
// it may hold URIs of the user's objects, which load nothing).
function markup(html) {
  return html.replace(/<script type="application\/json" id="execution-data">[\s\S]*?<\/script>/, '');
}

export function checkStatic(html) {
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
  assert.ok(csp, 'a Content-Security-Policy meta tag');
  assert.match(csp, /(^|; )default-src 'none'(;|$)/, 'CSP default-src none');
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/, 'scripts allowed by hash only');
  assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/, 'styles allowed by hash only');
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:|data:/, 'nothing else allowed');
  const m = markup(html);
  assert.doesNotMatch(m, /https?:\/\//i, 'no http(s) URL in the markup');
  assert.doesNotMatch(m, /\s(src|href|srcset|xlink:href|action|poster|background)\s*=/i, 'no attribute that loads a resource');
  assert.doesNotMatch(m.replace(/url\(#[\w-]+\)/g, ''), /url\(|@import/i, 'no CSS url() or @import besides local SVG fragments');
  assert.doesNotMatch(m, /\b(fetch|XMLHttpRequest|WebSocket|EventSource|sendBeacon|import\()\b/, 'the script requests nothing');
}

// Loads `htmlFile` in headless Chromium. `expect`: { stateName: outcome }
// (outcome = view.mjs's class suffix); `colours`: { outcome: '#rrggbb' }
// the fills/strokes of view.mjs; `select`: a state to open and `selectText`
// a RegExp its details must show; `minPixels`: { '#rrggbb': n } to find in
// the screenshot, written to `screenshot`.
export async function checkInChromium(htmlFile, { expect, colours, select, selectText, minPixels = {}, screenshot, windowSize = '1600,1400' }) {
  const chromium = chromiumPath();
  const html = readFileSync(htmlFile, 'utf8');
  checkStatic(html);

  // Every request Chromium makes goes to this proxy, loopback too: the
  // first line says where to (CONNECT host:port, or GET http://host/...).
  const requests = [];
  const proxy = createServer((sock) => {
    sock.once('data', (d) => {
      const line = String(d).split('\r\n')[0];
      const target = /^CONNECT ([^\s:]+)/.exec(line)?.[1] ?? /^[A-Z]+ https?:\/\/([^/:\s]+)/.exec(line)?.[1] ?? line;
      requests.push(target);
      sock.destroy();
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const profile = mkdtempSync(join(tmpdir(), 'lambda-c-chromium-'));
  const common = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
    '--metrics-recording-only', '--no-pings', `--user-data-dir=${profile}`,
    `--proxy-server=http://127.0.0.1:${proxy.address().port}`, '--proxy-bypass-list=<-loopback>', `--window-size=${windowSize}`];
  const url = `${pathToFileURL(htmlFile).href}${select ? `#state=${encodeURIComponent(select)}` : ''}`;
  const foreign = () => requests.filter((h) => !CHROMIUM_OWN.test(h));
  try {
    // The control: a page that does load something is seen doing it.
    const control = join(profile, 'control.html');
    writeFileSync(control, '<!DOCTYPE html><html><body><img src="http://192.0.2.7/pixel.png" alt=""><p>control</p></body></html>');
    await run(chromium, [...common, '--dump-dom', pathToFileURL(control).href]);
    assert.ok(foreign().includes('192.0.2.7'), `the proxy sees a page's own requests (saw: ${requests.join(', ')})`);
    requests.length = 0;

    const dom = await run(chromium, [...common, '--dump-dom', url]);
    assert.equal(dom.status, 0, `chromium --dump-dom failed: ${dom.err.slice(-2000)}`);
    const out = dom.out;
    assert.match(out, /<body[^>]*data-ready="1"/, 'the page\'s script ran (its hash is in the CSP)');
    for (const [name, outcome] of Object.entries(expect)) {
      const g = new RegExp(`<g class="state[^"]*\\bst-${outcome}\\b[^"]*" data-state="${name}" data-outcome="${outcome}"[^>]*>(?:<title>[^<]*</title>)?<rect [^>]*fill="${colours[outcome][0]}" stroke="${colours[outcome][1]}"`);
      assert.match(out, g, `${name} drawn as ${outcome} (${colours[outcome].join(' / ')})`);
    }
    if (select) {
      const panel = /<aside id="details"[^>]*data-shown="([^"]*)"[^>]*>([\s\S]*?)<\/aside>/.exec(out);
      assert.ok(panel, 'the details panel was filled by the script');
      assert.equal(panel[1], select, `#state=${select} opens its details`);
      if (selectText) assert.match(panel[2], selectText, `the details of ${select}`);
      assert.match(out, new RegExp(`<g class="state[^"]*\\bselected\\b[^"]*" data-state="${select}"`), `${select} is highlighted`);
    }
    if (screenshot) {
      const shot = await run(chromium, [...common, `--screenshot=${screenshot}`, url]);
      assert.equal(shot.status, 0, `chromium --screenshot failed: ${shot.err.slice(-2000)}`);
      const png = decodePng(readFileSync(screenshot));
      const [w, h] = windowSize.split(',').map(Number);
      assert.equal(png.width, w, 'screenshot width');
      assert.equal(png.height, h, 'screenshot height');
      for (const [hex, n] of Object.entries(minPixels)) {
        const got = countColour(png, hex);
        assert.ok(got >= n, `screenshot: ${got} pixels of ${hex}, expected at least ${n}`);
      }
    }
    assert.deepEqual(foreign(), [], 'the page requested nothing');
  } finally {
    proxy.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
