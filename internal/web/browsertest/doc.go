// Package browsertest drives the web console in a real Chromium (through
// chromedp) against a real `rampart serve --demo`: the platform runs in
// process through cli.Run, with its lab of weak services on 127.77.0.0/16,
// and the browser talks to it over loopback only.
//
// The tests are the console's end-to-end checks of issue 5:
//
//   - TestConsoleFlow: log in through the form, read the national
//     dashboard, filter findings, acknowledge one, switch language, log out.
//   - TestConsoleTenancy: an agency's org-admin sees nothing of any other
//     agency on any page the console links to, and is refused another
//     agency's pages by URL.
//   - TestConsoleClaims (issue 10): an org-member registers a hostname,
//     which becomes a claim whose page shows the token and the DNS and
//     file proofs; the parent organization's org-admin approves it on
//     /claims (it is verified) and rejects a second claim.
//
// Chromium is found on PATH (chromium, chromium-browser, google-chrome).
// Without one the tests skip, except under CI=true, where they fail.
// RAMPART_SCREENSHOTS=1 also writes docs/screenshots/*.png (dashboard,
// finding page, dashboard at phone width).
//
// The package holds tests only; nothing may import it. It imports the
// console through the command line (internal/cli) and reads the message
// catalogs from internal/web/i18n, so that no visible string is spelled
// out here twice.
package browsertest
