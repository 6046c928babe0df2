// A stand-in for Office.js (Microsoft's CDN is out of reach in tests): the open message comes from
// window.__officeItem (the test sets it), dialogs are popups, messageParent posts to the opener.
(function () {
  const item = %ITEM%;
  window.Office = {
    EventType: {DialogMessageReceived: "dialogMessageReceived"},
    onReady(callback) {
      const info = {host: "Outlook", platform: "OfficeOnline"};
      if (callback) setTimeout(() => callback(info));
      return Promise.resolve(info);
    },
    context: {
      mailbox: {userProfile: {emailAddress: "alice@example.com", displayName: "Alice Anders"}, item},
      ui: {
        displayDialogAsync(url, options, callback) {
          const popup = window.open(url, "office-dialog");
          const handlers = {};
          window.addEventListener("message", (event) => {
            if (event.source === popup && event.data && "officeDialogMessage" in event.data) {
              (handlers.dialogMessageReceived || (() => {}))({message: event.data.officeDialogMessage});
            }
          });
          callback({status: "succeeded", value: {addEventHandler: (type, handler) => (handlers[type] = handler), close: () => popup.close()}});
        },
        messageParent(message) {
          window.opener.postMessage({officeDialogMessage: message}, "*");
        },
      },
    },
  };
})();
