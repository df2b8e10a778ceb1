// One keystroke accepts a suggestion: 1-5 pick a candidate; Enter takes the best one only when it
// scores at or above the auto-map threshold (data-strong): a weak best guess is never one keystroke away.
document.addEventListener("keydown", (event) => {
  const card = event.target.closest && event.target.closest(".xw-suggestion");
  if (!card || event.target !== card) return;
  const selector = event.key === "Enter" ? 'button[data-accept="1"][data-strong]' : `button[data-accept="${event.key}"]`;
  const button = card.querySelector(selector);
  if (button) { event.preventDefault(); button.click(); }
});
