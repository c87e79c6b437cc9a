// Related articles under an answer: links to what the recommender suggested, best first. Opening one
// logs the click (who, which article, where it was shown) and shows the article under the links.

import { api } from "./api.js";
import { el } from "./dom.js";

export function suggestedArticles(recommendations, onError) {
  const items = recommendations?.items ?? [];
  if (!items.length) return null;
  const article = el("div", { class: "article", hidden: true, "aria-live": "polite" });
  const links = items.map((item) => {
    const link = el("a", {
      href: `#article-${item.entry_id}`,
      class: "suggestion",
      dataset: { entry: String(item.entry_id), position: String(item.position) },
      title: `score ${item.score}`,
      text: item.title,
    });
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      try {
        const click = await api(`/api/recommendations/${encodeURIComponent(recommendations.impression_id)}/click`, {
          method: "POST",
          body: { entry_id: item.entry_id },
        });
        article.replaceChildren(
          el("strong", { text: click.article.title }),
          el("p", { text: click.article.text ?? "This article has been removed since." }),
        );
        article.hidden = false;
        for (const other of links) other.classList.toggle("opened", other === link);
      } catch (error) {
        onError(error.message);
      }
    });
    return link;
  });
  return el("nav", { class: "suggestions", "aria-label": "Related articles", dataset: { impression: recommendations.impression_id } },
    el("span", { class: "suggestions-label", text: "Related articles:" }),
    el("ul", {}, links.map((link) => el("li", {}, link))),
    article);
}
