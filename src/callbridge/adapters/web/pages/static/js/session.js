// Signing out, from any page.
import { api } from "./api.js";

document.getElementById("sign-out")?.addEventListener("click", async () => {
  try {
    await api("POST", "/auth/logout");
  } finally {
    sessionStorage.clear();
    location.assign("/login");
  }
});
