// Rampart console: a few progressive enhancements; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // "Select all" checkbox of a findings table.
  document.querySelectorAll("input[data-check-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      var table = all.closest("table");
      table.querySelectorAll("tbody input[type=checkbox][name=id]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
  // Bulk form: the reason, approver and expiry fields matter for some actions only.
  var action = document.getElementById("a-action");
  if (action) {
    var toggle = function () {
      var v = action.value;
      var show = { "a-reason": v === "accept-risk" || v === "false-positive", "a-approver": v === "accept-risk", "a-until": v === "accept-risk" || v === "false-positive" };
      Object.keys(show).forEach(function (id) {
        var el = document.getElementById(id);
        if (el) { el.parentElement.hidden = !show[id]; el.required = show[id] && id !== "a-approver" ? true : (id === "a-approver" && show[id]); }
      });
    };
    action.addEventListener("change", toggle);
    toggle();
  }
});
