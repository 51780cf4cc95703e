// Shows the support resources sent with one encouragement (its id is the page's #fragment).

async function render() {
  const id = Number(location.hash.slice(1));
  const { encouragements = {} } = await chrome.storage.session.get("encouragements");
  const encouragement = encouragements[id];
  const list = document.getElementById("resources");
  list.replaceChildren();
  if (!encouragement) {
    document.getElementById("message").textContent = "This message is no longer available.";
    return;
  }
  document.getElementById("message").textContent = encouragement.message;
  for (const resource of encouragement.resources) {
    const item = document.createElement("li");
    const name = document.createElement(resource.url ? "a" : "strong");
    name.textContent = resource.name;
    if (resource.url) {
      name.href = resource.url;
      name.target = "_blank";
      name.rel = "noopener";
    }
    item.append(name);
    if (resource.contact) {
      item.append(`: ${resource.contact}`);
    }
    list.append(item);
  }
}

window.addEventListener("hashchange", () => render());
render();
