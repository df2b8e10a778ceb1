// Drag and drop onto the upload form: the dropped file goes into the form's input and the form
// is submitted (htmx posts it; without JS the plain form still works).
document.addEventListener("DOMContentLoaded", function () {
  var zone = document.getElementById("ap-drop");
  if (!zone) return;
  var input = zone.querySelector("input[type=file]");
  var form = zone.closest("form");
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (!event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    if (window.htmx) { window.htmx.trigger(form, "submit"); } else { form.submit(); }
  });
});
