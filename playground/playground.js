// The playground: GraphiQL (with the explorer and docs panes) over this gateway's /graphql, the
// saved operations in playground/operations opened as ready tabs.
//
// Keys are never persisted. The test key box's value lives in `testKey` below only. GraphiQL is
// told not to persist the Headers pane (shouldPersistHeaders: false), but its history still
// writes each run's headers to localStorage, so GraphiQL gets a storage that drops every
// "headers" value before writing.
(function () {
  "use strict";

  function withoutHeaders(value) {
    let parsed;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      return value;
    }
    return JSON.stringify(parsed, function (key, item) {
      return key === "headers" ? null : item;
    });
  }

  // localStorage as GraphiQL uses it (reads, keys, clear), with every write scrubbed.
  const storage = new Proxy(window.localStorage, {
    get: function (target, property) {
      if (property === "setItem") {
        return function (key, value) {
          target.setItem(key, withoutHeaders(value));
        };
      }
      const item = target[property];
      return typeof item === "function" ? item.bind(target) : item;
    },
  });

  let testKey = "";
  const keyInput = document.getElementById("test-key");
  keyInput.addEventListener("input", function () {
    testKey = keyInput.value.trim();
  });

  // GraphiQL calls this for every request, with the active tab's Headers pane in options.headers.
  async function fetcher(params, options) {
    const headers = Object.assign(
      {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json",
      },
      options && options.headers,
    );
    const named = Object.keys(headers).some(function (name) {
      return name.toLowerCase() === "authorization";
    });
    if (!named && testKey) {
      headers.Authorization = "Bearer " + testKey;
    }
    const response = await fetch("/graphql", {
      method: "POST",
      headers: headers,
      body: JSON.stringify(params),
      credentials: "omit",
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (error) {
      return { errors: [{ message: "HTTP " + response.status + ": " + text }] };
    }
  }

  async function start() {
    const response = await fetch("/playground/operations.json");
    const operations = await response.json();
    const explorer = GraphiQLPluginExplorer.explorerPlugin();
    const props = {
      fetcher: fetcher,
      defaultTabs: operations.map(function (operation) {
        return { query: operation.query, variables: operation.variables };
      }),
      shouldPersistHeaders: false,
      storage: storage,
      defaultEditorToolsVisibility: "variables",
      plugins: [explorer],
      visiblePlugin: explorer,
    };
    // On a first visit (no tabs kept from an earlier one) GraphiQL 4 fills the editors from these
    // props rather than from the first default tab, whose variables would otherwise show empty.
    if (operations.length && localStorage.getItem("graphiql:tabState") === null) {
      props.query = operations[0].query;
      props.variables = operations[0].variables;
    }
    const root = ReactDOM.createRoot(document.getElementById("graphiql"));
    root.render(React.createElement(GraphiQL, props));
    // GraphiQL 4 sizes the plugin pane on its first render, before it has registered the visible
    // plugin, and so leaves the explorer's pane collapsed. Mounting it once more (a new `key`)
    // after that first render opens the pane with the explorer in it.
    setTimeout(function () {
      root.render(React.createElement(GraphiQL, Object.assign({ key: "ready" }, props)));
    }, 0);
  }

  start().catch(function (error) {
    document.getElementById("graphiql").textContent =
      "The playground failed to start: " + error.message;
  });
})();
