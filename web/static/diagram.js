// Bring a case diagram's first open step (in progress or waiting) into view; without this
// script the diagram simply starts at the procedure's beginning.
document.querySelectorAll(".diagram-scroll").forEach((box) => {
  const open = box.querySelector(".bpmn-current, .bpmn-waiting");
  if (!open) return;
  const frame = box.getBoundingClientRect();
  const step = open.getBoundingClientRect();
  box.scrollLeft += step.left - frame.left - Math.max(0, (frame.width - step.width) / 3);
  box.scrollTop += step.top - frame.top - Math.max(0, (frame.height - step.height) / 3);
});
