// Infinite scroll: when the "Older posts" link of a list (the home feed, a
// profile, search results) comes into view, the next page is fetched and
// its posts are added below, with its own link to the page after. Without
// JavaScript or IntersectionObserver the link is there to follow, as it
// always was.
(function () {
  "use strict";
  if (!window.IntersectionObserver || !window.fetch || !window.DOMParser) return;
  var loading = false;
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.isIntersecting) more(e.target); });
  }, { rootMargin: "600px 0px" });

  function watch() {
    var next = document.querySelector("main nav.pager a[rel=next]");
    if (next) observer.observe(next.parentNode);
  }

  function more(pager) {
    var next = pager.querySelector("a[rel=next]");
    if (loading || !next) return;
    loading = true;
    pager.setAttribute("aria-busy", "true");
    fetch(next.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        // Posts and people go where the pager is; photo tiles into the
        // page's grid. A post that moved down a page since the last
        // one was served is shown once.
        page.querySelectorAll("main article.post, main p.person").forEach(function (item) {
          if (item.id && document.getElementById(item.id)) return;
          pager.parentNode.insertBefore(document.importNode(item, true), pager);
        });
        var grid = document.querySelector("main .grid");
        page.querySelectorAll("main .grid > .tile").forEach(function (tile) {
          if (grid && !grid.querySelector('a[href="' + tile.getAttribute("href") + '"]')) {
            grid.appendChild(document.importNode(tile, true));
          }
        });
        observer.unobserve(pager);
        var newer = page.querySelector("main nav.pager");
        if (newer && newer.querySelector("a[rel=next]")) {
          pager.replaceWith(document.importNode(newer, true));
        } else {
          pager.remove();
        }
        loading = false;
        watch();
      })
      .catch(function () {
        // The link still works: a click loads the page the old way.
        pager.removeAttribute("aria-busy");
        observer.unobserve(pager);
        loading = false;
      });
  }

  watch();
})();
