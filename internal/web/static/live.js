// The "new posts" bar of the home page. It counts the posts that land in
// the reader's feed while the page is open, told by the live feed stream
// (GET /v2/feed/stream, which the browser opens with the session cookie),
// and offers to show them. Without JavaScript or EventSource the page is
// as it was: reloading it shows new posts.
(function () {
  "use strict";
  var bar = document.getElementById("new-posts");
  if (!bar || !window.EventSource) return;
  var link = bar.querySelector("a");
  var seen = {}, count = 0;
  var stream = new EventSource(bar.getAttribute("data-stream"));
  stream.onopen = function () { bar.setAttribute("data-live", "open"); };
  stream.addEventListener("post", function (e) {
    var id;
    try { id = JSON.parse(e.data).post_id; } catch (err) { return; }
    // Already on the page, or counted before a reconnect replayed it.
    if (!id || seen[id] || document.getElementById("p" + id)) return;
    seen[id] = true;
    count++;
    link.textContent = count + (count === 1 ? " new post" : " new posts") + " \u2014 show";
    bar.hidden = false;
  });
})();
