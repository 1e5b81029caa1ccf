// Every refusal says why (issue 10): an autocomplete that finds nothing says
// that what it does not offer is not found, or not visible to the staff
// member (the server answers both alike), instead of Select2's bare
// "No results found".
(function () {
    "use strict";
    var WHY = "Nothing you can pick matches: not found, or not visible to you.";
    new MutationObserver(function (mutations) {
        mutations.forEach(function (mutation) {
            mutation.addedNodes.forEach(function (node) {
                if (node.nodeType !== 1) return;
                var messages = node.matches(".select2-results__message") ? [node]
                    : node.querySelectorAll(".select2-results__message");
                messages.forEach(function (message) {
                    if (message.textContent === "No results found") message.textContent = WHY;
                });
            });
        });
    }).observe(document.documentElement, {childList: true, subtree: true});
})();
