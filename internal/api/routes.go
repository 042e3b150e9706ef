package api

import "net/http"

// table is the whole API. Adding a route here registers it and documents it.
func (s *Server) table() []route {
	id := []param{}
	return []route{
		// Authentication
		{method: "POST", path: "/api/v1/auth/login", op: "login", tag: "auth", public: true,
			summary: "Exchange a user name and password (and TOTP code) for a session token",
			body:    loginRequest{}, resp: loginResponse{}, status: 200, h: s.login},
		{method: "GET", path: "/api/v1/me", op: "me", tag: "auth",
			summary: "Who the token belongs to", resp: meResponse{}, status: 200, h: s.me},

		// Organizations
		{method: "GET", path: "/api/v1/orgs", op: "listOrgs", tag: "orgs",
			summary: "List organizations in your subtree",
			query: append([]param{{"parent_id", "integer", "direct children of this organization"},
				{"root", "integer", "the whole subtree of this organization"},
				{"kind", "string", "national, ministry, sector, province, agency, unit or enterprise"},
				{"q", "string", "substring of the code or names"}}, pageParams...),
			resp: orgPage{}, status: 200, h: s.listOrgs},
		{method: "POST", path: "/api/v1/orgs", op: "createOrg", tag: "orgs",
			summary: "Create an organization", body: orgRequest{}, resp: orgJSON{}, status: 201, h: s.createOrg},
		{method: "GET", path: "/api/v1/orgs/{id}", op: "getOrg", tag: "orgs", query: id,
			summary: "Get an organization", resp: orgJSON{}, status: 200, h: s.getOrg},
		{method: "PATCH", path: "/api/v1/orgs/{id}", op: "updateOrg", tag: "orgs",
			summary: "Change an organization (fields given are changed)", body: orgPatch{}, resp: orgJSON{}, status: 200, h: s.updateOrg},
		{method: "DELETE", path: "/api/v1/orgs/{id}", op: "deleteOrg", tag: "orgs",
			summary: "Delete an organization with no children, assets or users", status: 204, h: s.deleteOrg},
		{method: "GET", path: "/api/v1/orgs/{id}/contacts", op: "listContacts", tag: "orgs",
			summary: "List an organization's contacts", resp: contactList{}, status: 200, h: s.listContacts},
		{method: "POST", path: "/api/v1/orgs/{id}/contacts", op: "createContact", tag: "orgs",
			summary: "Add a contact to an organization", body: contactRequest{}, resp: contactJSON{}, status: 201, h: s.createContact},
		{method: "DELETE", path: "/api/v1/contacts/{id}", op: "deleteContact", tag: "orgs",
			summary: "Remove a contact", status: 204, h: s.deleteContact},

		// Assets
		{method: "GET", path: "/api/v1/assets", op: "listAssets", tag: "assets",
			summary: "List assets in your subtree",
			query: append([]param{{"org_id", "integer", "assets of this organization"},
				{"subtree", "boolean", "with org_id: include its descendants"},
				{"kind", "string", "asset kind"}, {"criticality", "string", "normal, important, critical or national"},
				{"tag", "string", "assets carrying this tag"}, {"q", "string", "substring of the value"}}, pageParams...),
			resp: assetPage{}, status: 200, h: s.listAssets},
		{method: "POST", path: "/api/v1/assets", op: "createAsset", tag: "assets",
			summary: "Register an asset", body: assetRequest{}, resp: assetJSON{}, status: 201, h: s.createAsset},
		{method: "GET", path: "/api/v1/assets/{id}", op: "getAsset", tag: "assets",
			summary: "Get an asset", resp: assetJSON{}, status: 200, h: s.getAsset},
		{method: "PATCH", path: "/api/v1/assets/{id}", op: "updateAsset", tag: "assets",
			summary: "Change an asset's attributes", body: assetPatch{}, resp: assetJSON{}, status: 200, h: s.updateAsset},
		{method: "DELETE", path: "/api/v1/assets/{id}", op: "deleteAsset", tag: "assets",
			summary: "Remove an asset", status: 204, h: s.deleteAsset},
		{method: "POST", path: "/api/v1/import/assets", op: "importAssets", tag: "assets",
			summary: "Import assets from CSV or JSON; all rows or none, idempotent",
			query:   []param{{"org_code", "string", "owner for rows without org_code"}, {"format", "string", "csv or json (default: from Content-Type)"}},
			bodyCT:  "text/csv", resp: importSummary{}, status: 200, h: s.importAssets},
		{method: "POST", path: "/api/v1/import/orgs", op: "importOrgs", tag: "orgs",
			summary: "Import organizations (and contacts, JSON) from CSV or JSON; all rows or none, idempotent",
			query:   []param{{"format", "string", "csv or json (default: from Content-Type)"}},
			bodyCT:  "text/csv", resp: importSummary{}, status: 200, h: s.importOrgs},
		{method: "GET", path: "/api/v1/export/assets", op: "exportAssets", tag: "assets",
			summary: "Export the assets you see as CSV or JSON (the import format)",
			query:   []param{{"format", "string", "csv (default) or json"}, {"org_id", "integer", "only this organization's subtree"}},
			respCT:  "text/csv", status: 200, h: s.exportAssets},
		{method: "GET", path: "/api/v1/export/orgs", op: "exportOrgs", tag: "orgs",
			summary: "Export the organizations you see as CSV or JSON (the import format)",
			query:   []param{{"format", "string", "csv (default) or json"}},
			respCT:  "text/csv", status: 200, h: s.exportOrgs},

		// Scope
		{method: "GET", path: "/api/v1/scope", op: "scopeLookup", tag: "scope",
			summary: "Which asset and organization own a target (IP, name, URL, ASN); 404 out_of_scope otherwise",
			query:   []param{{"target", "string", "an IP address, host name, URL, CIDR or ASN"}},
			resp:    scopeResponse{}, status: 200, h: s.scopeLookup},
		{method: "GET", path: "/api/v1/scope/overlaps", op: "scopeOverlaps", tag: "scope",
			summary: "Assets of one organization covered by another's", resp: overlapList{}, status: 200, h: s.scopeOverlaps},

		// Scans
		{method: "POST", path: "/api/v1/scans", op: "requestScan", tag: "scans",
			summary: "Scan an asset, or every asset of an organization, now",
			body:    scanRequest{}, resp: scanRequested{}, status: 202, h: s.requestScan},
		{method: "GET", path: "/api/v1/scans", op: "listScans", tag: "scans",
			summary: "List scan jobs and their state",
			query: append([]param{{"org_id", "integer", "jobs of this organization's subtree"}, {"asset_id", "integer", "jobs of one asset"},
				{"state", "string", "queued, running, done, failed or unreachable"}, {"region", "string", "vantage point"}}, pageParams...),
			resp: scanJobPage{}, status: 200, h: s.listScans},
		{method: "GET", path: "/api/v1/scans/{id}", op: "getScan", tag: "scans",
			summary: "Get a scan job", resp: scanJobJSON{}, status: 200, h: s.getScan},
		{method: "GET", path: "/api/v1/observations", op: "listObservations", tag: "scans",
			summary: "List what scans saw: open and closed ports with their services, first and last seen",
			query: append([]param{{"org_id", "integer", "this organization's subtree"}, {"asset_id", "integer", "one asset"},
				{"ip", "string", "one address"}, {"port", "integer", "one port"}, {"service", "string", "e.g. https, ssh"},
				{"state", "string", "open or closed"}}, pageParams...),
			resp: observationPage{}, status: 200, h: s.listObservations},
		{method: "GET", path: "/api/v1/orgs/{id}/scan-policy", op: "getScanPolicy", tag: "scans",
			summary: "An organization's scan exclusions and blackout windows", resp: scanPolicyJSON{}, status: 200, h: s.getScanPolicy},
		{method: "PUT", path: "/api/v1/orgs/{id}/scan-policy", op: "putScanPolicy", tag: "scans",
			summary: "Replace an organization's scan exclusions and blackout windows (Asia/Ho_Chi_Minh time)",
			body:    scanPolicyJSON{}, resp: scanPolicyJSON{}, status: 200, h: s.putScanPolicy},

		// Findings
		{method: "GET", path: "/api/v1/findings", op: "listFindings", tag: "findings",
			summary: "List findings in your subtree", query: append(append([]param{}, findingParams...), pageParams...),
			resp: findingPage{}, status: 200, h: s.listFindings},
		{method: "GET", path: "/api/v1/findings/export", op: "exportFindings", tag: "findings",
			summary: "Export findings as CSV, JSON or SARIF 2.1.0 (same filters as the list)",
			query:   append([]param{{"format", "string", "csv (default), json or sarif"}}, findingParams...),
			respCT:  "text/csv", status: 200, h: s.exportFindings},
		{method: "GET", path: "/api/v1/findings/{id}", op: "getFinding", tag: "findings",
			summary: "Get a finding with its evidence and due date", resp: findingJSON{}, status: 200, h: s.getFinding},
		{method: "GET", path: "/api/v1/findings/{id}/history", op: "findingHistory", tag: "findings",
			summary: "Every state change of a finding, with who and why", resp: findingHistory{}, status: 200, h: s.findingHistory},
		{method: "POST", path: "/api/v1/findings/{id}/transition", op: "transitionFinding", tag: "findings",
			summary: "Acknowledge, accept the risk, mark false positive, reopen, or ask for verification (a rescan)",
			body:    transitionRequest{}, resp: findingJSON{}, status: 200, h: s.transitionFinding},
		{method: "GET", path: "/api/v1/debt", op: "debt", tag: "findings",
			summary: "Compliance debt (active and overdue findings, weighted) of each organization you see, rolled up its subtree",
			resp:    debtList{}, status: 200, h: s.debt},

		// Users and tokens
		{method: "GET", path: "/api/v1/users", op: "listUsers", tag: "access", query: pageParams,
			summary: "List users in your subtree", resp: userPage{}, status: 200, h: s.listUsers},
		{method: "POST", path: "/api/v1/users", op: "createUser", tag: "access",
			summary: "Create a user; without a password one is generated and returned once",
			body:    userRequest{}, resp: userCreated{}, status: 201, h: s.createUser},
		{method: "GET", path: "/api/v1/users/{id}", op: "getUser", tag: "access",
			summary: "Get a user", resp: userJSON{}, status: 200, h: s.getUser},
		{method: "POST", path: "/api/v1/users/{id}/password", op: "setPassword", tag: "access",
			summary: "Set a user's password", body: passwordRequest{}, status: 204, h: s.setPassword},
		{method: "GET", path: "/api/v1/tokens", op: "listTokens", tag: "access", query: pageParams,
			summary: "List API tokens in your subtree (never their secrets)", resp: tokenPage{}, status: 200, h: s.listTokens},
		{method: "POST", path: "/api/v1/tokens", op: "createToken", tag: "access",
			summary: "Create an API token; the secret is in the response only", body: tokenRequest{}, resp: tokenCreated{}, status: 201, h: s.createToken},
		{method: "DELETE", path: "/api/v1/tokens/{id}", op: "revokeToken", tag: "access",
			summary: "Revoke an API token", status: 204, h: s.revokeToken},

		// Audit
		{method: "GET", path: "/api/v1/audit", op: "listAudit", tag: "audit",
			summary: "The audit log of changes in your subtree (admins)",
			query: append([]param{{"object_type", "string", "org, contact, asset, user or token"},
				{"object_id", "integer", "one object"}, {"actor", "string", "who made the change"}}, pageParams...),
			resp: auditPage{}, status: 200, h: s.listAudit},

		// The document itself
		{method: "GET", path: "/api/v1/openapi.json", op: "openapi", tag: "meta", public: true,
			summary: "This OpenAPI 3.1 document", status: 200, h: s.openapi},
	}
}

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}
