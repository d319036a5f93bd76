document.body.insertAdjacentHTML("afterbegin", "<p>hls.js was not installed when nagare was built (npm ci --prefix web).</p>");
