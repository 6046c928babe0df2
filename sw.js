chrome.runtime.onMessage.addListener((m,s,r)=>{chrome.storage.local.set({x:m}).then(()=>r({ok:1}));return true;});
