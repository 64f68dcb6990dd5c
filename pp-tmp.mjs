import puppeteer from 'puppeteer-core';
import net from 'node:net';
const srv = net.createServer((c) => { const u = net.connect('/tmp/webt/rm3.sock'); c.pipe(u); u.pipe(c); c.on('error',()=>{}); u.on('error',()=>{}); }).listen(19200);
const b = await puppeteer.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  for (let i = 0; i < 6; i++) {
    const ctx = await b.createBrowserContext();
    const p = await ctx.newPage();
    await p.setViewport({ width: 1280, height: 800 });
    const cdp = await p.createCDPSession(); await cdp.send('Performance.enable');
    await p.goto('http://127.0.0.1:19200/'); await p.waitForSelector('html[data-live="1"]');
    const m = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map(x => [x.name, x.value]));
    const t = await p.evaluate(() => { const n = performance.getEntriesByType('navigation')[0]; return { resp: Math.round(n.responseEnd), domInt: Math.round(n.domInteractive), inter: Math.round(performance.getEntriesByName('ringmaster-interactive')[0].startTime) }; });
    console.log(JSON.stringify(t), 'script', (m.ScriptDuration*1000).toFixed(0), 'layout', (m.LayoutDuration*1000).toFixed(0), 'layouts', m.LayoutCount, 'style', (m.RecalcStyleDuration*1000).toFixed(0), 'task', (m.TaskDuration*1000).toFixed(0), 'proc', m.ProcessTime);
    await ctx.close();
  }
} finally { await b.close(); srv.close(); }
