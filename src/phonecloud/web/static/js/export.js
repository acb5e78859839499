// Download everything: while an export is being prepared, show how far it got, and reload the page
// (which then lists its parts) once it is ready or has failed.

const POLL_MS = 1500;

function watch(element) {
  const progress = element.querySelector("progress");
  const text = element.querySelector(".export-progress");
  const poll = async () => {
    let export_;
    try {
      const response = await fetch(element.dataset.exportPoll, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      export_ = await response.json();
    } catch {
      setTimeout(poll, POLL_MS * 4);  // the server is restarting or unreachable: try again later
      return;
    }
    if (export_.state !== "preparing") {
      window.location.reload();
      return;
    }
    const { hash_done_bytes: done, hash_total_bytes: total } = export_.progress;
    if (total) {
      progress.max = total;
      progress.value = done;
      text.textContent = `${Math.round((done * 100) / total)}% read`;
    }
    setTimeout(poll, POLL_MS);
  };
  setTimeout(poll, POLL_MS);
}

for (const element of document.querySelectorAll("[data-export-poll]")) watch(element);
