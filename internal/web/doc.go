// Package web is Rampart's server-rendered console: the national dashboard,
// organization, finding, asset and scan pages, and the administration of
// users, API tokens and the audit log, in Vietnamese (the default) and
// English.
//
// Its shape follows Miniflux: a Server holds the dependencies, each page or
// action is one method in its own file, templates share one layout, and
// every visible string comes from the message catalogs in i18n/. Templates,
// styles, the little JavaScript there is and the logo are embedded, so the
// console works air-gapped; charts are SVG drawn on the server.
//
// Security: sessions are rows of the tokens table (name "web-session")
// whose secret lives only in an HttpOnly cookie; every POST carries a
// per-session CSRF token and must come from the console's own origin;
// every response carries a strict Content-Security-Policy. Handlers never
// filter by tenant themselves: every store call gets the session's
// principal and the store enforces tenancy.
//
// It is an adapter: it may import the store, scan, queue and domain
// packages, and no domain package may import it.
package web
