// The dashboard's build: plain ES modules and CSS into hashed files under assets/, which fleetd
// serves (server/api/static_site.cpp caches /assets/* for a year and index.html never).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    assetsDir: 'assets',
    sourcemap: false,
    // Leaflet's marker images are not used (vehicles, stops and zones are drawn): inline nothing
    // bigger than a few KiB, so the page loads no file it does not need.
    assetsInlineLimit: 4096,
    chunkSizeWarningLimit: 600,
  },
  test: {
    include: ['test/**/*.test.js'],
    environment: 'node',
  },
});
