// One keystroke accepts a suggestion: Enter takes the best candidate, 1-5 pick one.
document.addEventListener("keydown", (event) => {
  const card = event.target.closest && event.target.closest(".xw-suggestion");
  if (!card || event.target !== card) return;
  const index = event.key === "Enter" ? "1" : event.key;
  const button = card.querySelector(`button[data-accept="${index}"]`);
  if (button) { event.preventDefault(); button.click(); }
});
