// The API VS Code injects into webviews, typed for the message protocol of this extension.
declare function acquireVsCodeApi(): {
  postMessage(message: import('../src/extension/webviews/replicationLog/protocol').FromWebview): void;
  getState(): import('../src/extension/webviews/replicationLog/protocol').ViewState | undefined;
  setState(state: import('../src/extension/webviews/replicationLog/protocol').ViewState): void;
};
