// Rows of fields with "Add" and "Remove" buttons (a variant's options, a visitor
// group's criteria): one listener for every such field, rows added later too.
(function () {
    if (window.cbOptionsReady) return;
    window.cbOptionsReady = true;
    document.addEventListener("click", function (event) {
        var box = event.target.closest(".cb-options");
        if (!box) return;
        var rows = box.querySelector(".cb-option-rows");
        if (event.target.closest(".cb-option-add")) {
            var row = box.querySelector(".cb-option-template").content.firstElementChild.cloneNode(true);
            rows.appendChild(row);
            row.querySelector("select, input").focus();
        } else if (event.target.closest(".cb-option-remove")) {
            var option = event.target.closest(".cb-option");
            if (rows.children.length > 1) { option.remove(); }
            else { option.querySelectorAll("input, select").forEach(function (input) { input.value = ""; }); }
            box.dispatchEvent(new Event("change", {bubbles: true}));
        }
    });
})();
