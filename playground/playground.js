// The playground: GraphiQL (with the explorer and docs panes) over this gateway's /graphql, the
// saved operations in playground/operations opened as ready tabs. Queries and mutations are
// POSTed; subscriptions run over a WebSocket on the same path (graphql-transport-ws, through the
// graphql-ws client bundled in GraphiQL's own file), with the key in connection_init's payload.
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

  function namesAuthorization(headers) {
    return Object.keys(headers || {}).some(function (name) {
      return name.toLowerCase() === "authorization";
    });
  }

  // Whether the operation GraphiQL runs is a subscription (as its own fetcher decides it).
  function isSubscription(params, options) {
    const document = options && options.documentAST;
    return Boolean(
      document &&
        document.definitions.some(function (definition) {
          const name = definition.name ? definition.name.value : undefined;
          return (
            definition.kind === "OperationDefinition" &&
            definition.operation === "subscription" &&
            name === (params.operationName || undefined)
          );
        }),
    );
  }

  const socketUrl =
    (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + "/graphql";

  // A subscription: GraphiQL's fetcher opens a graphql-ws client for it, whose connection_init
  // payload is the Headers pane's headers over `wsConnectionParams`. The socket closes when the
  // subscription ends (the stop button).
  function subscribe(params, options) {
    const credentials =
      !namesAuthorization(options && options.headers) && testKey
        ? { Authorization: "Bearer " + testKey }
        : {};
    return GraphiQL.createFetcher({
      url: "/graphql",
      subscriptionUrl: socketUrl,
      wsConnectionParams: credentials,
    })(params, options);
  }

  // GraphiQL calls this for every request, with the active tab's Headers pane in options.headers.
  async function fetcher(params, options) {
    if (isSubscription(params, options)) {
      return subscribe(params, options);
    }
    const headers = Object.assign(
      {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json",
      },
      options && options.headers,
    );
    if (!namesAuthorization(headers) && testKey) {
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

  // --- the variables editor's checks of the custom scalars --------------------------------------
  // GraphiQL's variables editor (codemirror-graphql's "graphql-variables" lint) accepts a custom
  // scalar only as a string, number or boolean, so a valid `"metadata": {"order": "1001"}` is
  // underlined as an error. For that check alone (completion, the docs and the request itself are
  // untouched) each variable's type is rebuilt with the scalars in their real shape: Metadata an
  // object whose values are strings, JSON any value. The types come from GraphiQL's own copy of
  // graphql-js (GraphiQL.GraphQL), the one its checks test with instanceof.
  const graphql = window.GraphiQL && GraphiQL.GraphQL;
  // Skipped by every check: not an instance of any graphql-js type, nor a built-in scalar's name.
  const ANY_JSON = { name: "JSON", toString: () => "JSON" };

  function metadataShape() {
    const value = new graphql.GraphQLNonNull(graphql.GraphQLString);
    const shape = new graphql.GraphQLInputObjectType({ name: "Metadata", fields: {} });
    // Any key is a field, a string; none is required.
    const anyKey = new Proxy(
      {},
      {
        get: function (target, key) {
          return typeof key === "string" ? { name: key, type: value } : undefined;
        },
      },
    );
    shape.getFields = function () {
      return anyKey;
    };
    return shape;
  }

  function reshapeType(type, shaped) {
    if (graphql.isNonNullType(type)) {
      return new graphql.GraphQLNonNull(reshapeType(type.ofType, shaped));
    }
    if (graphql.isListType(type)) {
      return new graphql.GraphQLList(reshapeType(type.ofType, shaped));
    }
    if (shaped.has(type.name)) {
      return shaped.get(type.name);
    }
    let result = type;
    if (type.name === "JSON" && graphql.isScalarType(type)) {
      result = ANY_JSON;
    } else if (type.name === "Metadata" && graphql.isScalarType(type)) {
      result = metadataShape();
    } else if (graphql.isInputObjectType(type)) {
      result = new graphql.GraphQLInputObjectType({
        name: type.name,
        // A thunk: read when checked, so input types that refer to each other are built once.
        fields: function () {
          const fields = {};
          const original = type.getFields();
          Object.keys(original).forEach(function (name) {
            fields[name] = {
              type: reshapeType(original[name].type, shaped),
              defaultValue: original[name].defaultValue,
            };
          });
          return fields;
        },
      });
    }
    shaped.set(type.name, result);
    return result;
  }

  // The operation's variable types (GraphiQL sets a new object when the query changes), reshaped.
  const reshaped = new WeakMap();
  function reshapeVariables(variableToType) {
    if (!variableToType) {
      return variableToType;
    }
    if (!reshaped.has(variableToType)) {
      const shaped = new Map();
      const copy = {};
      Object.keys(variableToType).forEach(function (name) {
        copy[name] = reshapeType(variableToType[name], shaped);
      });
      reshaped.set(variableToType, copy);
    }
    return reshaped.get(variableToType);
  }

  function lintVariables(text, options, editor) {
    const lint = editor.getHelper(editor.constructor.Pos(0, 0), "lint");
    const reshapedOptions = Object.assign({}, options, {
      variableToType: reshapeVariables(options.variableToType),
    });
    return lint(text, reshapedOptions, editor);
  }

  // Each CodeMirror editor's wrapper element holds the editor as `.CodeMirror`. GraphiQL creates
  // its editors after loading CodeMirror, and again when remounted, so every change to the page is
  // a chance to find a new variables editor; one already using lintVariables is left alone.
  function checkVariablesWithShapes() {
    document.querySelectorAll("#graphiql .CodeMirror").forEach(function (element) {
      const editor = element.CodeMirror;
      const state = editor && editor.state.lint;
      if (!state || editor.getOption("mode") !== "graphql-variables") {
        return;
      }
      if (state.options.getAnnotations !== lintVariables) {
        state.options.getAnnotations = lintVariables;
        editor.performLint();
      }
    });
  }

  if (graphql) {
    new MutationObserver(checkVariablesWithShapes).observe(document.getElementById("graphiql"), {
      childList: true,
      subtree: true,
    });
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
