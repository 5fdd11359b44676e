// The visit report walk in Debian's Chromium (playwright-core), two parts; prints one JSON line.
// 1. A clinician signs in (no next: lands on the triage list after the second factor), clicks the
//    patient, reads the summary block's numbers and downloads the PDF.
// 3. The API docs render with no request to another origin.
// 2. The person makes a doctor link (the app's API call, with their token); a fresh browser context
//    with no account opens it: the report and its PDF; the person revokes it; the same page is a 404.
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const { BASE, EMAIL, PASSWORD, PERSON_EMAIL, PERSON_PASSWORD, PATIENT_NAME, OUT } = process.env;

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of text.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(secret) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

async function summary(page) {
  const found = {};
  for (const id of ["rate-now", "rate-before", "trend", "pain-median", "pain-worst", "longest"]) {
    const el = page.locator(`[data-testid=${id}]`);
    found[id] = (await el.count()) ? (await el.first().textContent()).trim() : null;
  }
  found.redFlags = await page.locator("[data-testid=red-flag]").allTextContents();
  found.disclaimer = (await page.textContent("[data-testid=not-a-diagnosis]")).trim();
  return found;
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const out = { clinician: {}, link: {} };
try {
  // ---- 1. the clinician ----
  const tablet = { viewport: { width: 1024, height: 1366 }, acceptDownloads: true };
  const context = await browser.newContext(tablet);
  const page = await context.newPage();
  await page.goto(`${BASE}/accounts/login/`);
  await page.fill("input[name=username]", EMAIL);
  await page.fill("input[name=password]", PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  out.clinician.afterSignIn = new URL(page.url()).pathname;  // the second factor first, then triage
  const secret = (await page.textContent("[data-testid=totp-secret]")).trim();
  await page.fill("input[name=code]", totp(secret));
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  out.clinician.landed = new URL(page.url()).pathname;
  out.clinician.lastEntry = (await page.textContent("[data-testid=last-entry]")).trim();
  await page.screenshot({ path: `${OUT}/1-triage.png`, fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click(`a[data-testid=patient-link]:has-text("${PATIENT_NAME}")`)]);
  out.clinician.patientPath = new URL(page.url()).pathname;
  await page.waitForSelector("[data-testid=summary]");
  out.clinician.summary = await summary(page);
  out.clinician.back = await page.locator('a[href="/clinician/"]').count();
  await page.screenshot({ path: `${OUT}/2-patient.png`, fullPage: true });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("a[data-testid=pdf]")]);
  await download.saveAs(`${OUT}/clinician-report.pdf`);
  out.clinician.pdf = `${OUT}/clinician-report.pdf`;
  await context.close();

  // ---- 2. the person's doctor link ----
  const api = await browser.newContext();
  const signIn = await api.request.post(`${BASE}/api/v1/auth/token`, { data: { email: PERSON_EMAIL, password: PERSON_PASSWORD } });
  const { access } = await signIn.json();
  const auth = { Authorization: `Bearer ${access}` };
  const made = await api.request.post(`${BASE}/api/v1/me/report-links`, { headers: auth, data: { days: 14 } });
  out.link.madeStatus = made.status();
  const link = await made.json();
  out.link.url = link.url;

  const doctor = await browser.newContext(tablet);  // a fresh context: no account, no cookie
  const view = await doctor.newPage();
  const opened = await view.goto(link.url.replace(/^https?:\/\/[^/]+/, BASE));
  out.link.status = opened.status();
  out.link.headers = { robots: opened.headers()["x-robots-tag"], referrer: opened.headers()["referrer-policy"] };
  await view.waitForSelector("[data-testid=summary]");
  out.link.title = (await view.textContent("[data-testid=report-title]")).trim();
  out.link.summary = await summary(view);
  out.link.charts = await view.locator("figure svg").count();
  out.link.hrefs = await view.locator("a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  await view.screenshot({ path: `${OUT}/3-doctor-link.png`, fullPage: true });
  const pdf = await doctor.request.get(new URL("report.pdf", view.url()).href);
  out.link.pdfStatus = pdf.status();
  out.link.pdfType = pdf.headers()["content-type"];
  writeFileSync(`${OUT}/doctor-link-report.pdf`, await pdf.body());
  out.link.pdf = `${OUT}/doctor-link-report.pdf`;

  const revoked = await api.request.delete(`${BASE}/api/v1/me/report-links/${link.id}`, { headers: auth });
  out.link.revokeStatus = revoked.status();
  const again = await view.reload();
  out.link.afterRevoke = again.status();
  out.link.afterRevokeText = (await view.locator("main").innerText()).trim();
  await view.screenshot({ path: `${OUT}/4-after-revoke.png`, fullPage: true });
  const views = await api.request.get(`${BASE}/api/v1/me/report-links`, { headers: auth });
  out.link.listed = (await views.json())[0];

  // ---- 3. the API docs, offline: every request stays on this server, nothing breaks the CSP ----
  const docs = await (await browser.newContext()).newPage();
  out.docs = { elsewhere: [], problems: [] };
  docs.on("request", (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) out.docs.elsewhere.push(r.url()); });
  docs.on("console", (m) => { if (m.type() === "error") out.docs.problems.push(m.text()); });
  await docs.goto(`${BASE}/api/docs/`);
  await docs.waitForSelector(".swagger-ui .info .title", { timeout: 30_000 });
  out.docs.title = (await docs.textContent(".swagger-ui .info .title")).trim();
  out.docs.operations = await docs.locator(".opblock").count();
  await docs.screenshot({ path: `${OUT}/5-api-docs.png` });
} finally {
  await browser.close();
}
writeFileSync(1, JSON.stringify(out) + "\n");
