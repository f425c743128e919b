// upwatch: the only script. Pages work without it; it adds a confirmation
// before submitting forms marked with data-confirm="Question?".
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
