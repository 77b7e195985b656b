// The console's charts: data from the page's JSON island, drawn by the vendored Chart.js.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("figures-data").textContent);
  var labels = JSON.parse(document.getElementById("type-labels").textContent);
  if (typeof Chart === "undefined") { return; }
  var months = Object.keys(data.monthly_messages);
  var kinds = {};
  months.forEach(function (m) { Object.keys(data.monthly_messages[m]).forEach(function (k) { kinds[k] = true; }); });
  var datasets = Object.keys(kinds).sort().map(function (k) {
    return { label: labels[k] || k, data: months.map(function (m) { return data.monthly_messages[m][k] || 0; }) };
  });
  var options = { responsive: true, maintainAspectRatio: false, animation: false };
  window.caduceeCharts = [
    new Chart(document.getElementById("chart-messages"), {
      type: "bar", data: { labels: months, datasets: datasets },
      options: Object.assign({ scales: { x: { stacked: true }, y: { stacked: true } } }, options)
    }),
    new Chart(document.getElementById("chart-active"), {
      type: "line",
      data: {
        labels: data.active_users_series.map(function (p) { return p[0]; }),
        datasets: [{ label: "30 j / 30 d", data: data.active_users_series.map(function (p) { return p[1]; }), pointRadius: 0 }]
      },
      options: options
    })
  ];
}());
